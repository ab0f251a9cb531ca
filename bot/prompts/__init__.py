"""Daily discussion prompts: crontab schedules per channel, a bank of questions worked
through without repeats, each (channel, scheduled time) posted exactly once."""
