CREATE TABLE `presets` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`output` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `presets_org_slug` ON `presets` (`org_id`,`slug`);--> statement-breakpoint
CREATE INDEX `presets_org_created` ON `presets` (`org_id`,`created_at`,`id`);