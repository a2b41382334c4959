CREATE TABLE `address_months` (
	`month` text NOT NULL,
	`address` text NOT NULL,
	`messages` integer NOT NULL,
	`signable` integer NOT NULL,
	PRIMARY KEY(`month`, `address`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `address_months_address` ON `address_months` (`address`);
--> statement-breakpoint
INSERT INTO `address_months` (`month`, `address`, `messages`, `signable`)
SELECT strftime('%Y-%m', `effective_at` / 1000, 'unixepoch'), `address`, count(*),
       max(CASE WHEN `evidence` = 1 AND (`smime` = 'verify' OR `smime_message` IN ('signed', 'opaque-signed')) THEN 1 ELSE 0 END)
FROM `observations` GROUP BY 1, 2;
