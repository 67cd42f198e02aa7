ALTER TABLE `jobs` ADD `dialect` text;--> statement-breakpoint
CREATE INDEX `jobs_org_dialect_created` ON `jobs` (`org_id`,`dialect`,`created_at`,`id`);