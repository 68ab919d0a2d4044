// One OpenSearch node in one JVM, with the modules kabar needs loaded from the classpath
// (scripts/engines.py builds the classpath from pom.xml). Settings come as -Ekey=value
// arguments, as with bin/opensearch. Stops cleanly on SIGTERM.
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

public final class KabarOpenSearch {
    private static final List<Class<? extends Plugin>> PLUGINS = List.of(
        org.opensearch.transport.Netty4Plugin.class,
        org.opensearch.analysis.common.CommonAnalysisPlugin.class,
        org.opensearch.painless.PainlessPlugin.class,
        org.opensearch.percolator.PercolatorPlugin.class,
        org.opensearch.index.mapper.MapperExtrasPlugin.class,
        org.opensearch.join.ParentJoinPlugin.class,
        org.opensearch.index.reindex.ReindexPlugin.class);

    /** Node's constructor that takes classpath plugins is protected. */
    private static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment) {
            super(environment, PLUGINS, true);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(org.opensearch.cluster.service.ClusterService service) {
            // only feeds log lines with the node id; needs a log4j set-up we do not use
        }
    }

    public static void main(String[] args) throws Exception {
        Settings.Builder builder = Settings.builder();
        for (String arg : args) {
            if (!arg.startsWith("-E") || !arg.contains("=")) {
                throw new IllegalArgumentException("expected -Ekey=value, got " + arg);
            }
            String[] pair = arg.substring(2).split("=", 2);
            builder.put(pair[0], pair[1]);
        }
        Settings settings = builder.build();
        Path config = Path.of(settings.get("path.home")).resolve("config");
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> settings.get("node.name", "kabar"));
        LogConfigurator.registerErrorListener();
        LogConfigurator.configure(environment);

        Node node = new ClasspathNode(environment);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));
        try {
            node.start();
        } catch (Exception e) {  // a port taken, a bad setting: exit, or the node's threads keep the JVM alive
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("kabar-opensearch: started");
        stopped.await();
    }
}
