CREATE TABLE `secrets` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`credentials` text NOT NULL,
	`access_key_hint` text NOT NULL,
	`region` text,
	`endpoint` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `secrets_org_name` ON `secrets` (`org_id`,`name`);--> statement-breakpoint
CREATE INDEX `secrets_org_created` ON `secrets` (`org_id`,`created_at`,`id`);