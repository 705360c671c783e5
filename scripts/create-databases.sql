-- One database per service (docker-compose's PostgreSQL runs this on first start).
CREATE DATABASE intake;
CREATE DATABASE escalation;
CREATE DATABASE ownership;
CREATE DATABASE confirmation;
CREATE DATABASE analytics;
CREATE DATABASE console;
