CREATE TABLE `org_job_counts` (
	`org_id` text NOT NULL,
	`status` text NOT NULL,
	`total` integer NOT NULL,
	PRIMARY KEY(`org_id`, `status`)
);
--> statement-breakpoint
-- Edited by hand: SQLite cannot add a NOT NULL column without a default, so job_tags is
-- rebuilt with each tag's job's created_at (a tag without its job row could never be listed).
CREATE TABLE `__new_job_tags` (
	`job_id` text NOT NULL,
	`org_id` text NOT NULL,
	`tag` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`job_id`, `tag`)
);
--> statement-breakpoint
INSERT INTO `__new_job_tags` (`job_id`, `org_id`, `tag`, `created_at`)
  SELECT t.`job_id`, t.`org_id`, t.`tag`, j.`created_at` FROM `job_tags` t JOIN `jobs` j ON j.`id` = t.`job_id`;--> statement-breakpoint
DROP TABLE `job_tags`;--> statement-breakpoint
ALTER TABLE `__new_job_tags` RENAME TO `job_tags`;--> statement-breakpoint
CREATE INDEX `job_tags_org_tag_created` ON `job_tags` (`org_id`,`tag`,`created_at`,`job_id`);--> statement-breakpoint
DROP INDEX `jobs_org_status`;--> statement-breakpoint
CREATE INDEX `jobs_org_status_created` ON `jobs` (`org_id`,`status`,`created_at`,`id`);