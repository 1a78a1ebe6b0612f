// Throwing on load is what msgpackr expects when the native addon is absent: it falls back to pure JS.
throw new Error('msgpackr-extract stub: native acceleration is not installed');
