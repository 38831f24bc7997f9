// An agency's Java client of NGSP as the public ones are written (VietOpenCPS/opencps-v2,
// ApplicantManagementImpl with the business-registration client library): a token from
// POST {base}/token with the consumer key and secret in Basic auth, then
// GET {base}/apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn=... with the bearer token, each over
// the JDK's own HttpsURLConnection. Nothing here trusts "all": the certificate is checked
// against the truststore the JVM is given (-Djavax.net.ssl.trustStore=...), and the host
// name against the certificate, as for https://api.ngsp.gov.vn.
//
// Usage: java NgspHttpsClient BASE_URL CONSUMER_KEY CONSUMER_SECRET MSDN
// (the enterprise code, as ApplicantManagementImpl passes it to chiTietDoanhNghiep)
// Prints "token <status>", "call <status>" and "body <json>", one a line; exit 1 on an I/O or
// TLS failure, its class and message on stderr.

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.HttpsURLConnection;

public final class NgspHttpsClient {
    private static final Pattern ACCESS_TOKEN = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"");

    private static String read(HttpsURLConnection connection) throws IOException {
        InputStream in = connection.getResponseCode() < 400
            ? connection.getInputStream() : connection.getErrorStream();
        if (in == null) {
            return "";
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        for (int n; (n = in.read(buffer)) > 0; ) {
            out.write(buffer, 0, n);
        }
        in.close();
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    private static HttpsURLConnection open(String url) throws IOException {
        // A cast, as the client libraries do: an http:// URL would fail right here.
        HttpsURLConnection connection = (HttpsURLConnection) new URL(url).openConnection();
        connection.setConnectTimeout(10000);
        connection.setReadTimeout(30000);
        return connection;
    }

    public static void main(String[] args) throws Exception {
        String base = args[0];
        String key = args[1];
        String secret = args[2];
        String msdn = args[3];
        try {
            HttpsURLConnection tokenCall = open(base + "/token");
            tokenCall.setRequestMethod("POST");
            tokenCall.setDoOutput(true);
            String basic = Base64.getEncoder().encodeToString(
                (key + ":" + secret).getBytes(StandardCharsets.UTF_8));
            tokenCall.setRequestProperty("Authorization", "Basic " + basic);
            tokenCall.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
            try (OutputStream out = tokenCall.getOutputStream()) {
                out.write("grant_type=client_credentials".getBytes(StandardCharsets.UTF_8));
            }
            String tokenReply = read(tokenCall);
            System.out.println("token " + tokenCall.getResponseCode());
            Matcher found = ACCESS_TOKEN.matcher(tokenReply);
            if (!found.find()) {
                System.err.println("no access_token in " + tokenReply);
                System.exit(1);
            }

            HttpsURLConnection call = open(base + "/apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn="
                + URLEncoder.encode(msdn, "UTF-8"));
            call.setRequestProperty("Authorization", "Bearer " + found.group(1));
            call.setRequestProperty("Accept", "application/json");
            String body = read(call);
            System.out.println("call " + call.getResponseCode());
            System.out.println("body " + body.replace("\n", " "));
        } catch (IOException e) {
            System.err.println(e.getClass().getName() + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
