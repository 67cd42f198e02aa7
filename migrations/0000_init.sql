CREATE TABLE `api_key_organizations` (
	`key_id` text NOT NULL,
	`org_id` text NOT NULL,
	PRIMARY KEY(`key_id`, `org_id`),
	FOREIGN KEY (`key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `api_key_organizations_org` ON `api_key_organizations` (`org_id`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`secret_hash` text NOT NULL,
	`secret_prefix` text NOT NULL,
	`statements` text NOT NULL,
	`created_at` text NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_secret_hash_unique` ON `api_keys` (`secret_hash`);--> statement-breakpoint
CREATE TABLE `job_tags` (
	`job_id` text NOT NULL,
	`org_id` text NOT NULL,
	`tag` text NOT NULL,
	PRIMARY KEY(`job_id`, `tag`)
);
--> statement-breakpoint
CREATE INDEX `job_tags_org_tag` ON `job_tags` (`org_id`,`tag`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`status` text NOT NULL,
	`progress` integer DEFAULT 0 NOT NULL,
	`current_stage` text,
	`mode` text NOT NULL,
	`kind` text,
	`priority` text NOT NULL,
	`bundle` text,
	`input` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`error_code` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`started_at` text,
	`completed_at` text
);
--> statement-breakpoint
CREATE INDEX `jobs_org_created` ON `jobs` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_org_status` ON `jobs` (`org_id`,`status`);--> statement-breakpoint
CREATE INDEX `jobs_org_bundle` ON `jobs` (`org_id`,`bundle`);--> statement-breakpoint
CREATE TABLE `organizations` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL
);
