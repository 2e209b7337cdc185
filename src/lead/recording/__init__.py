"""Expert data recording: the recorder library (one MCAP bag per route, LEAD's data
table at LEAD's save rate), dataset tools (info, check) and `lead collect`."""
