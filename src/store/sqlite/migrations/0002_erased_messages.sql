CREATE TABLE `erased_messages` (
	`message_hash` text PRIMARY KEY NOT NULL,
	`erased_at` integer NOT NULL
);
