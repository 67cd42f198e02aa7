-- Written by hand (drizzle-kit generate --custom): drizzle declares neither triggers nor
-- FTS5 tables. See docs/architecture.md, Listing.
-- Per-org, per-status job counts for total_count, kept by the index's own writes.
INSERT INTO `org_job_counts` (`org_id`, `status`, `total`) SELECT `org_id`, `status`, count(*) FROM `jobs` GROUP BY `org_id`, `status`;--> statement-breakpoint
CREATE TRIGGER `jobs_counted` AFTER INSERT ON `jobs` BEGIN
  INSERT INTO `org_job_counts` (`org_id`, `status`, `total`) VALUES (new.`org_id`, new.`status`, 1)
    ON CONFLICT (`org_id`, `status`) DO UPDATE SET `total` = `total` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `jobs_recounted` AFTER UPDATE OF `org_id`, `status` ON `jobs`
  WHEN old.`org_id` IS NOT new.`org_id` OR old.`status` IS NOT new.`status` BEGIN
  UPDATE `org_job_counts` SET `total` = `total` - 1 WHERE `org_id` = old.`org_id` AND `status` = old.`status`;
  INSERT INTO `org_job_counts` (`org_id`, `status`, `total`) VALUES (new.`org_id`, new.`status`, 1)
    ON CONFLICT (`org_id`, `status`) DO UPDATE SET `total` = `total` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `jobs_uncounted` AFTER DELETE ON `jobs` BEGIN
  UPDATE `org_job_counts` SET `total` = `total` - 1 WHERE `org_id` = old.`org_id` AND `status` = old.`status`;
END;--> statement-breakpoint
-- Substring search over job ids and tags: one row per id and per tag, so a match never spans
-- two tags. Rows are not deleted (jobs and tags are not); every candidate is re-tested.
CREATE VIRTUAL TABLE `job_search` USING fts5(`job_id` UNINDEXED, `text`, tokenize = 'trigram');--> statement-breakpoint
INSERT INTO `job_search` (`job_id`, `text`) SELECT `id`, `id` FROM `jobs`;--> statement-breakpoint
INSERT INTO `job_search` (`job_id`, `text`) SELECT `job_id`, `tag` FROM `job_tags`;--> statement-breakpoint
CREATE TRIGGER `jobs_searchable` AFTER INSERT ON `jobs` BEGIN
  INSERT INTO `job_search` (`job_id`, `text`) VALUES (new.`id`, new.`id`);
END;--> statement-breakpoint
CREATE TRIGGER `job_tags_searchable` AFTER INSERT ON `job_tags` BEGIN
  INSERT INTO `job_search` (`job_id`, `text`) VALUES (new.`job_id`, new.`tag`);
END;
