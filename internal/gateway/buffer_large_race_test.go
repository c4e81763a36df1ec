//go:build race

package gateway_test

// largeBody is the size of TestGiBUploadBoundedHeap's body under the race
// detector.
const largeBody = 128 << 20
