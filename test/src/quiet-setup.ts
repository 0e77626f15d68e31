// Runs before every test file (vitest `setupFiles`): keeps the test output to what a person needs to read.

// The AI SDK logs a notice and deprecation warnings (generateObject, streamObject, "image" parts, …) through
// process.emitWarning once per worker. The compat suites call those APIs on purpose, and the middleware tests
// provoke warnings to check they are passed through: the `AI_SDK_LOG_WARNINGS` global is the SDK's documented
// off switch. Tests that assert warnings read them from the results, not from the log.
(globalThis as { AI_SDK_LOG_WARNINGS?: unknown }).AI_SDK_LOG_WARNINGS = false;
