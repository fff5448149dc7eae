"""What every Skillstack service needs: events, the Kafka bus, database helpers, auth and the web base.

Business rules live in the services, never here.
"""
