CREATE TABLE `origins` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`provider` text NOT NULL,
	`bucket` text NOT NULL,
	`path` text,
	`region` text NOT NULL,
	`endpoint` text,
	`permissions` text NOT NULL,
	`credentials` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `origins_org_created` ON `origins` (`org_id`,`created_at`,`id`);