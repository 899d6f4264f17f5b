-- Run once by the postgres image on an empty volume: one database per service,
-- the same ones LocalStack creates (LocalStack.DATABASES).
CREATE DATABASE keyservice;
CREATE DATABASE usageservice;
CREATE DATABASE auditservice;
