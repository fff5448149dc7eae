"""The real identity provider in the e2e tests: Keycloak, with each scenario's people added to it."""

import time

import requests

PASSWORD = "e2e-demo-password"
DEV_CLIENT = ("skillstack-dev", "dev-local-secret")  # password grant, for tests and the local run only
LMS_CLIENT = ("academy-lms", "lms-local-secret")


class Keycloak:
    """Adds people to the `skillstack` realm and gets their tokens, as users and clients would."""

    def __init__(self, base_url: str, admin_password: str):
        self.base_url = base_url.rstrip("/")
        self.issuer = f"{self.base_url}/realms/skillstack"
        self.admin_password = admin_password
        self._tokens: dict[str, tuple[float, str]] = {}

    def _token(self, cache_key: str, realm: str, form: dict) -> str:
        cached = self._tokens.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        response = requests.post(f"{self.base_url}/realms/{realm}/protocol/openid-connect/token", data=form, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        self._tokens[cache_key] = (time.monotonic() + body["expires_in"] - 30, body["access_token"])
        return body["access_token"]

    def _admin(self) -> dict:
        token = self._token("admin", "master", {"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": self.admin_password})
        return {"Authorization": f"Bearer {token}"}

    def add_person(self, employee_id: str, name: str, email: str, groups: tuple[str, ...] = ()) -> None:
        """Create a user whose tokens carry `employee_id`, with a known password."""
        first, _, last = name.partition(" ")
        response = requests.post(
            f"{self.base_url}/admin/realms/skillstack/users",
            json={
                "username": employee_id.lower(), "email": email, "firstName": first, "lastName": last or first,
                "enabled": True, "emailVerified": True, "attributes": {"employee_id": [employee_id]},
                "groups": list(groups), "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}],
            },
            headers=self._admin(),
            timeout=30,
        )
        assert response.status_code in (201, 409), response.text

    def person_token(self, employee_id: str) -> str:
        """A user's access token (audiences: the three APIs) through the dev client's password grant."""
        client_id, secret = DEV_CLIENT
        return self._token(
            employee_id,
            "skillstack",
            {"grant_type": "password", "client_id": client_id, "client_secret": secret, "username": employee_id.lower(), "password": PASSWORD, "scope": "openid"},
        )

    def client_token(self, client_id: str = LMS_CLIENT[0], secret: str = LMS_CLIENT[1]) -> str:
        """A machine client's access token (client credentials)."""
        return self._token(f"client:{client_id}", "skillstack", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})

    def add_short_lived_lms_client(self, client_id: str, lifetime_seconds: int = 1) -> tuple[str, str]:
        """A second LMS client whose tokens expire after `lifetime_seconds`."""
        secret = f"{client_id}-secret"
        response = requests.post(
            f"{self.base_url}/admin/realms/skillstack/clients",
            json={
                "clientId": client_id, "secret": secret, "publicClient": False, "serviceAccountsEnabled": True,
                "standardFlowEnabled": False, "directAccessGrantsEnabled": False,
                "attributes": {"access.token.lifespan": str(lifetime_seconds)},
                "defaultClientScopes": ["completions:write"],
                "protocolMappers": [{
                    "name": "issuer-audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
                    "config": {"included.custom.audience": "issuer", "access.token.claim": "true", "id.token.claim": "false"},
                }],
            },
            headers=self._admin(),
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return client_id, secret
