"""The issuer: credential definitions, assessment intake and issued credentials."""
