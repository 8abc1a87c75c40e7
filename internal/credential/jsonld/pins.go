package jsonld

// Pin binds a context URL to the file that holds it in a contexts directory
// and to the SHA-256 digest of that file's bytes. A context whose bytes do not
// match its pin is never used: a changed context changes what a signature
// means.
type Pin struct {
	// URL is the context URL as it appears in @context.
	URL string
	// File is the file name inside the contexts directory.
	File string
	// SHA256 is the lower-case hex digest of the file.
	SHA256 string
}

// StandardPins are the contexts of W3C Verifiable Credentials, CLR 2.0,
// Open Badges 3.0, Data Integrity, DID and the security suites, pinned to the
// copies 1EdTech's validator ships (see ../shared/clr/README.md). File names
// match that directory, which `clr-server contexts fetch` reproduces.
var StandardPins = []Pin{
	{URL: "https://www.w3.org/2018/credentials/v1", File: "2018-credentials-v1.jsonld", SHA256: "3d0b277522ed24385c850b9882b9688687189b8f37a9bd9f1577e348b1019c44"},
	{URL: "https://www.w3.org/ns/credentials/v2", File: "credentials-v2.jsonld", SHA256: "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"},
	{URL: "https://purl.imsglobal.org/spec/clr/v2p0/context.json", File: "clr-v2p0.json", SHA256: "e198d7b517d74c5036434ce495086f67b10244709e9a3df9dcb7f8b1579b6167"},
	{URL: "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json", File: "clr-v2p0-2.0.1.json", SHA256: "880f1902d4158f2f33ce06af41b90719977cd1ea337a9de2e41edb3ff5e543d6"},
	{URL: "https://purl.imsglobal.org/spec/ob/v3p0/context.json", File: "ob-v3p0.json", SHA256: "b077fa134d909d92c1dcd1c153f2af1b244aeb415967fdc1467d7fc5dd48ac10"},
	{URL: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json", File: "ob-v3p0-3.0.1.json", SHA256: "cfc147db5fd5e3575b06bd471fe04784e92de69296f64a351b8dff0ec3372e9c"},
	{URL: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json", File: "ob-v3p0-3.0.2.json", SHA256: "bba433989e1e700ca60838a3c22378e7d8381aeb0c9590f9ddf84d1714f10296"},
	{URL: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", File: "ob-v3p0-3.0.3.json", SHA256: "3d34f4d4ef1bce691106e63798beb5e7b862ba841423f5ee1e53ab7ddf3bca84"},
	{URL: "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json", File: "ob-v3p0-extensions.json", SHA256: "146f85aa16effd7ca1da8056eb443f53ce1eca8a34186cb062832c0a97d889c3"},
	{URL: "https://w3id.org/security/data-integrity/v1", File: "data-integrity-v1.jsonld", SHA256: "c6e5073f4bd4bf6d08f245736e6f32c29b012860b18583644b2d71e1de862669"},
	{URL: "https://www.w3.org/ns/did/v1", File: "did-v1.jsonld", SHA256: "adefa50311393eb1bd788a38ac9fe2696c65367928f6996812cd54577394f4da"},
	{URL: "https://w3id.org/security/v2", File: "security-v2.jsonld", SHA256: "611bd81151d5efe53ec9aed78f5a813e577287bc9451ee26d6879b1b8b46bc3b"},
	{URL: "https://w3id.org/security/suites/ed25519-2020/v1", File: "suites-ed25519-2020.jsonld", SHA256: "b9e1ab971fd8bf2c7553e0c4a9438e0b9450afde1ea1ca5b2492368b9f549588"},
	{URL: "https://w3id.org/security/suites/jws-2020/v1", File: "suites-jws-2020.jsonld", SHA256: "d648e05ddc6577827ca2bfd5e931f53e9ebc6e52a57a8da81df4ec8c46ffcd1e"},
}
