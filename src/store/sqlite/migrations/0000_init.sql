CREATE TABLE `address_clients` (
	`address` text NOT NULL,
	`client_key` text NOT NULL,
	`family` text,
	`product` text,
	`version` text,
	`platform` text,
	`smime` text NOT NULL,
	`count` integer NOT NULL,
	`last_seen` integer NOT NULL,
	PRIMARY KEY(`address`, `client_key`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `address_clients_family` ON `address_clients` (`family`);--> statement-breakpoint
CREATE TABLE `addresses` (
	`address` text PRIMARY KEY NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`messages` integer NOT NULL,
	`last_verify_at` integer,
	`last_non_verify_at` integer,
	`last_non_verify_client` text,
	`last_non_verify_smime` text,
	`last_broken_at` integer,
	`last_broken_client` text,
	`last_unrecognised_at` integer,
	`last_signed_at` integer,
	`family` text,
	`product` text,
	`version` text,
	`smime` text,
	`client_at` integer,
	`recommendation` text NOT NULL,
	`reason` text NOT NULL,
	`decided_until` integer,
	`key_changed` integer DEFAULT 0 NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `addresses_recommendation` ON `addresses` (`recommendation`);--> statement-breakpoint
CREATE INDEX `addresses_family` ON `addresses` (`family`,`recommendation`,`smime`);--> statement-breakpoint
CREATE INDEX `addresses_decided_until` ON `addresses` (`decided_until`);--> statement-breakpoint
CREATE TABLE `certificates` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`address` text NOT NULL,
	`fingerprint` text NOT NULL,
	`spki_sha256` text NOT NULL,
	`subject` text NOT NULL,
	`issuer` text NOT NULL,
	`serial` text NOT NULL,
	`not_before` integer NOT NULL,
	`not_after` integer NOT NULL,
	`key_algorithm` text NOT NULL,
	`capabilities` text DEFAULT '[]' NOT NULL,
	`trusted` text NOT NULL,
	`continuity` text NOT NULL,
	`pem` text NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `certificates_address_fingerprint` ON `certificates` (`address`,`fingerprint`);--> statement-breakpoint
CREATE INDEX `certificates_address` ON `certificates` (`address`,`last_seen`);--> statement-breakpoint
CREATE TABLE `checkpoints` (
	`account` text NOT NULL,
	`folder` text NOT NULL,
	`uid_validity` text NOT NULL,
	`last_uid` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`account`, `folder`)
);
--> statement-breakpoint
CREATE TABLE `counters` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `erasures` (
	`address_hash` text PRIMARY KEY NOT NULL,
	`erased_at` integer NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `observations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source_key` text NOT NULL,
	`address` text NOT NULL,
	`message_id` text NOT NULL,
	`effective_at` integer NOT NULL,
	`received_at` integer,
	`fingerprint` text NOT NULL,
	`family` text,
	`kind` text NOT NULL,
	`product` text,
	`version` text,
	`platform` text,
	`smime` text NOT NULL,
	`confidence` real NOT NULL,
	`rule_id` text,
	`warnings` text DEFAULT '[]' NOT NULL,
	`candidates` text,
	`smime_message` text,
	`authenticated` integer,
	`evidence` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `observations_source_key` ON `observations` (`source_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `observations_message_address` ON `observations` (`message_id`,`address`);--> statement-breakpoint
CREATE INDEX `observations_address` ON `observations` (`address`,`effective_at`);