CREATE TABLE `upload_parts` (
	`upload_id` text NOT NULL,
	`part_number` integer NOT NULL,
	`etag` text NOT NULL,
	PRIMARY KEY(`upload_id`, `part_number`)
);
--> statement-breakpoint
CREATE TABLE `uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`protocol` text NOT NULL,
	`status` text NOT NULL,
	`filename` text,
	`content_type` text NOT NULL,
	`key` text NOT NULL,
	`max_bytes` integer,
	`size_bytes` integer,
	`etag` text,
	`upload_length` integer,
	`upload_offset` integer DEFAULT 0 NOT NULL,
	`upload_metadata` text,
	`multipart_id` text,
	`part_size` integer,
	`parts_done` integer DEFAULT 0 NOT NULL,
	`staged_bytes` integer DEFAULT 0 NOT NULL,
	`lock_token` text,
	`lock_expires_at` integer,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`completed_at` text,
	`deleted_at` text
);
--> statement-breakpoint
CREATE INDEX `uploads_org_created` ON `uploads` (`org_id`,`created_at`,`id`);