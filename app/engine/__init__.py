"""BPMN per agency: deployment and validation, running instances, scripts, timers, history events."""
