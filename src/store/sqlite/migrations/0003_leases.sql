CREATE TABLE `leases` (
	`account` text NOT NULL,
	`folder` text NOT NULL,
	`owner` text NOT NULL,
	`token` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`acquired_at` integer NOT NULL,
	PRIMARY KEY(`account`, `folder`)
);
