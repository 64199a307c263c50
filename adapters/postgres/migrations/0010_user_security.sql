-- The security version ends sessions issued before a password change, ban or role change; an email
-- changed after sign-up is unverified and grants nothing (invitations) until verified.  Addresses
-- already stored count as verified, as sign-up addresses do (an interim policy until verification
-- emails exist).
ALTER TABLE users ADD COLUMN security_version integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT true;
