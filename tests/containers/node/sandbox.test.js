// The sandbox's image from Node's Testcontainers: what an agency's Node test suite writes.
// tests/test_containers.py runs it (`npm ci && node --test`) with GSP_IMAGE set to the image
// it built and DOCKER_HOST at podman's Docker-API socket.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GenericContainer, Wait } from "testcontainers";

const IMAGE = process.env.GSP_IMAGE ?? "gsp-sandbox:latest";
const LGSP = 8001; // lgsp-bac-giang in the default topology, bac-giang-2022
const NGSP = 8000;
// The one-stop shop's synthetic credentials (README, "Credentials of the default topology").
const KEY = "motcua-bac-giang-key";
const SECRET = "motcua-bac-giang-secret-2022";

test("the whole sandbox in one container: ready at the LGSP's /healthz", async () => {
  const container = await new GenericContainer(IMAGE)
    .withCommand(["up"])
    .withExposedPorts(LGSP, NGSP)
    .withWaitStrategy(Wait.forHttp("/healthz", LGSP).forStatusCode(200))
    .withStartupTimeout(180_000)
    .start();
  try {
    const lgsp = `http://${container.getHost()}:${container.getMappedPort(LGSP)}`;
    const topology = await (await fetch(`${lgsp}/topology`)).json();
    assert.equal(
      topology.summary,
      "LGSP bac-giang: 9 services connected through NGSP, 3 intra-province",
    );

    const token = await fetch(`${lgsp}/token`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    assert.equal(token.status, 200);
    const { access_token: accessToken } = await token.json();
    // A routed call through the LGSP and NGSP to the population database: the default
    // topology's first sample citizen (`gsp-sandbox samples` lists them).
    const citizen = await fetch(`${lgsp}/apiCSDLDC/1.0/congDan?soDinhDanh=024090012345`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    assert.equal(citizen.status, 200);
    const name = (await citizen.json()).CongDan.HoVaTen;
    assert.equal([name.Ho, name.ChuDem, name.Ten].filter(Boolean).join(" "), "Nguyễn Văn An");
  } finally {
    await container.stop();
  }
});
