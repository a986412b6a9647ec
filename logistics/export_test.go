package logistics

// Exported for the tests of package logistics_test.
var (
	MaskDigits   = maskDigits
	MaskLocation = maskLocation
)
