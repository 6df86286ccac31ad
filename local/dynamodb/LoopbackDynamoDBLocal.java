// Starts DynamoDB Local bound to 127.0.0.1 only. The shipped ServerRunner has no host option and
// Jetty's `new Server(port)` listens on every interface, so this launcher builds the same server
// from the same command-line flags, then narrows its connectors to loopback before starting it.
// Run in source-file mode: java -cp DynamoDBLocal.jar LoopbackDynamoDBLocal.java -port N ...
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDBLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      ((ServerConnector) connector).setHost("127.0.0.1");
    }
    proxy.start();
    System.out.println("DynamoDB Local ready on 127.0.0.1");
  }
}
