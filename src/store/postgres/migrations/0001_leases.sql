CREATE TABLE "leases" (
	"account" text COLLATE "C" NOT NULL,
	"folder" text COLLATE "C" NOT NULL,
	"owner" text COLLATE "C" NOT NULL,
	"token" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"acquired_at" bigint NOT NULL,
	CONSTRAINT "leases_account_folder_pk" PRIMARY KEY("account","folder")
);
