ALTER TABLE `addresses` ADD `clients` text DEFAULT '[]' NOT NULL;
--> statement-breakpoint
UPDATE `addresses` SET `clients` = (
  SELECT json_group_array(json_array(`family`, `product`, `version`, `platform`, `smime`, `count`, `last_seen`))
  FROM (SELECT * FROM `address_clients` c WHERE c.`address` = `addresses`.`address` ORDER BY c.`last_seen` DESC, c.`count` DESC, c.`client_key`)
) WHERE `address` IN (SELECT `address` FROM `address_clients`);
--> statement-breakpoint
DROP TABLE `address_clients`;
