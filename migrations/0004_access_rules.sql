CREATE TABLE `document_access` (
	`project_id` text NOT NULL,
	`doc_id` text NOT NULL,
	`incarnation` text NOT NULL,
	`user_id` text NOT NULL,
	`access` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`project_id`, `doc_id`, `incarnation`, `user_id`),
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
