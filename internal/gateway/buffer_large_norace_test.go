//go:build !race

package gateway_test

// largeBody is the size of TestGiBUploadBoundedHeap's body.
const largeBody = 1 << 30
