"""The calendar of planned next steps, and its feed for phone calendars."""
