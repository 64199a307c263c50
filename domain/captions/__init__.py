"""Live captions and meeting transcripts (issue 12): what was said in a meeting, by whom, when."""
