"""Import Center: files, Google Sheets and pasted rows into the CRM."""
