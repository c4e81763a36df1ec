package demo

// sessionCookieName is the app's session cookie (sent as __Host-sessionid
// over HTTPS).
const sessionCookieName = "sessionid"
