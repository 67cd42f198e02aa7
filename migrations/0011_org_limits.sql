CREATE TABLE `org_limits` (
	`org_id` text PRIMARY KEY NOT NULL,
	`jobs_per_minute_per_key` integer,
	`jobs_per_minute` integer,
	`active_jobs` integer,
	`running_jobs` integer
);
