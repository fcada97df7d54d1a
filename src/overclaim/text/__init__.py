"""Text: cut a document's text into units (sentences, headings, list items), find the cues
in them, and give each unit its neighbours as context."""
