"""Managing BPMN files and forms per agency: upload, lint, deploy, versions; incidents and retry."""
