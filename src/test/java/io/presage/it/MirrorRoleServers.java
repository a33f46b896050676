package io.presage.it;

import java.util.Map;

/** {@link RealServers} with the node in the mirror role as "mirror-1", without a coordinator: just the applier. */
public class MirrorRoleServers extends RealServers {
    @Override
    public Map<String, String> start() {
        Map<String, String> cfg = super.start();
        cfg.put("presage.role", "mirror");
        cfg.put("presage.node-id", "mirror-1");
        return cfg;
    }
}
