package upload_test

import (
	"fmt"

	"github.com/bulwarkdev/bulwark/upload"
)

// Client filenames are reduced to a display label, never used as paths.
func ExampleDisplayName() {
	for _, name := range []string{"../../etc/passwd", `C:\Windows\win.ini`, "..&#x2F;..&#x2F;.bashrc", "cat\u202egnp.exe", "/tmp/"} {
		label, ok := upload.DisplayName(name)
		fmt.Printf("%q %q %v\n", name, label, ok)
	}
	// Output:
	// "../../etc/passwd" "passwd" true
	// "C:\\Windows\\win.ini" "win.ini" true
	// "..&#x2F;..&#x2F;.bashrc" ".bashrc" true
	// "cat\u202egnp.exe" "catgnp.exe" true
	// "/tmp/" "" false
}
