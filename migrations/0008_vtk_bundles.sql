CREATE TABLE `job_bundles` (
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`org_id`, `name`)
);
--> statement-breakpoint
CREATE INDEX `job_bundles_org_created` ON `job_bundles` (`org_id`,`created_at`,`name`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `waiting_for_encoder` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `bytes_in` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `bytes_out` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `execution_ms` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `compute_units` real DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_org_updated` ON `jobs` (`org_id`,`updated_at`,`id`);