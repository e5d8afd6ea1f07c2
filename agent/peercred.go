package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
)

// peer is who is at the other end of a unix socket connection, as the
// kernel saw it at connect time (SO_PEERCRED, SO_PEERGROUPS).
type peer struct {
	uid, gid uint32
	pid      int32
	groups   []uint32
}

// peerKey carries a *peerConn in the context of a connection accepted on the
// unix socket, and only there: a TCP request can never hold one.
type peerKey struct{}

// peerConn is what ConnContext learnt about a socket connection: the peer,
// or why it could not be read.
type peerConn struct {
	peer *peer
	err  error
}

// connContext is the http.Server's ConnContext, as in tailscale's local
// API: it reads the peer credentials of each unix socket connection once,
// when it is accepted, so that every request on it knows who sent it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	p, err := readPeer(uc)
	return context.WithValue(ctx, peerKey{}, &peerConn{peer: p, err: err})
}

// peerFrom returns the socket connection of a request, or false for a
// request that came over TCP.
func peerFrom(ctx context.Context) (*peerConn, bool) {
	pc, ok := ctx.Value(peerKey{}).(*peerConn)
	return pc, ok
}

// socketPolicy decides what a peer of the unix socket may do. The socket
// file's mode keeps most users from connecting at all; this is the check
// that does not depend on the file being set up right.
type socketPolicy struct {
	// agentUID is the uid the agent runs as. Its peers, and root's, are
	// HOST_MANAGER: they could signal the processes anyway.
	agentUID uint32
	// group, when hasGroup, is server.socket_group: its members are
	// HOST_VIEWER.
	group    uint32
	hasGroup bool
	// groupName names the group in refusals.
	groupName string
}

// errPeerUnknown means the peer credentials of a socket connection could not
// be read; such a connection gets nothing.
var errPeerUnknown = errors.New("cannot read the peer credentials of the socket connection")

// principal is what the peer of pc may do, named "uid:N" in logs and
// refusals. A peer that may do nothing gets a principal without
// permissions, and so a 403 at the permission check, with a refusal saying
// who may.
func (sp socketPolicy) principal(pc *peerConn) (principal, error) {
	if pc.err != nil || pc.peer == nil {
		return principal{}, fmt.Errorf("%w: %v", errPeerUnknown, pc.err)
	}
	p := pc.peer
	who := principal{name: fmt.Sprintf("uid:%d", p.uid), peer: p}
	switch {
	case p.uid == 0 || p.uid == sp.agentUID:
		who.perms = permManager | permViewer
	case sp.hasGroup && (p.gid == sp.group || slices.Contains(p.groups, sp.group)):
		who.perms = permViewer
		who.refusal = fmt.Sprintf("uid %d may only read over the agent's socket (as a member of group %s); acting needs root or uid %d", p.uid, sp.groupName, sp.agentUID)
	default:
		who.refusal = fmt.Sprintf("uid %d may not use the agent's socket: only root and uid %d (the agent's) may", p.uid, sp.agentUID)
		if sp.hasGroup {
			who.refusal += fmt.Sprintf(", and members of group %s may read", sp.groupName)
		}
	}
	return who, nil
}
