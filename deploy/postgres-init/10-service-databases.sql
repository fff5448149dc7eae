-- One database per Skillstack service: each service owns its data and no other service
-- reads it (docs: DESIGN.md, "Services"). The official postgres image runs this file once,
-- as POSTGRES_USER, when it initialises an empty data volume; the databases are owned by
-- that role. Each service's schema is created by its own migrations (`flask ... migrate`).
CREATE DATABASE skillstack_issuer;
CREATE DATABASE skillstack_pathways;
CREATE DATABASE skillstack_notifications;
