ALTER TABLE "addresses" ADD COLUMN "clients" text COLLATE "C" DEFAULT '[]' NOT NULL;
--> statement-breakpoint
UPDATE "addresses" a SET "clients" = c.list FROM (
  SELECT "address", json_agg(json_build_array("family", "product", "version", "platform", "smime", "count", "last_seen") ORDER BY "last_seen" DESC, "count" DESC, "client_key")::text AS list
  FROM "address_clients" GROUP BY "address"
) c WHERE a."address" = c."address";
--> statement-breakpoint
DROP TABLE "address_clients" CASCADE;
