from shared.config import BaseConfig


class Config(BaseConfig):
    SERVICE_NAME = "pathways"
    DATABASE_URL = "sqlite:///.local/pathways.db"
    EVENT_SOURCE = "/skillstack/pathways"
    ORG_CHART_MAX_ROWS = 200_000
    ORG_CHART_MAX_BYTES = 32 * 1024 * 1024
    # When an employee's manager has left, their manager decides the employee's requests.
    APPROVAL_SKIP_LEVEL = True
    # HR's overview lists open advancement requests older than this as stuck.
    PATHWAYS_STUCK_AFTER_DAYS = 7
    # The employee's pathway flags credentials that run out within this many days.
    PATHWAYS_EXPIRING_WITHIN_DAYS = 60
