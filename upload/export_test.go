package upload

// IsPrintable exposes isPrintable to the tests that transcribe Python's
// str.isprintable.
var IsPrintable = isPrintable
