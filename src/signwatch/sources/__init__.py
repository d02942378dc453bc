"""Outside feeds: verify and parse what each platform sends into signwatch's normalized events."""
