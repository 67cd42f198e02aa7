ALTER TABLE `jobs` ADD `outputs_expired_at` text;--> statement-breakpoint
CREATE INDEX `jobs_completed` ON `jobs` (`completed_at`);--> statement-breakpoint
ALTER TABLE `uploads` ADD `probe_status` text;--> statement-breakpoint
ALTER TABLE `uploads` ADD `probe_metadata` text;--> statement-breakpoint
ALTER TABLE `uploads` ADD `probe_error_code` text;--> statement-breakpoint
ALTER TABLE `uploads` ADD `probe_error_message` text;--> statement-breakpoint
ALTER TABLE `uploads` ADD `probed_at` text;--> statement-breakpoint
CREATE INDEX `uploads_status_created` ON `uploads` (`status`,`created_at`);