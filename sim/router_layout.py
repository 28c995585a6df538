"""Where the router model keeps its state (``sim.router`` owns the arrays, ``sim.router_core``
runs them): the columns of the message/packet pool and of the configuration, synthetic-source,
statistics and counter vectors, and the VC states."""


IDLE, ROUTING, VA, ACTIVE = 0, 1, 2, 3  # input VC states
# Pool rows are messages (SIZE flits from endpoint SRC to DST, cut into packets of CUT flits as
# they are injected; LEFT flits not yet cut, PLEFT packets not yet delivered) and packets (MSG:
# their message). Columns:
SRC, DST, SIZE, CT, IT, NEXT, DIM, CLS, HOPS, MEAS, TAG, PATH, MSG, LEFT, PLEFT, CUT = range(16)
PK_FIELDS = 16
# cfg entries (int64)
C_V, C_B, C_RD, C_VAD, C_SAD, C_STD, C_CD, C_WTC, C_ROUTING, C_VAALG, C_SAALG, C_DEADLOCK, C_PERPKT = range(13)
# gen entries (synthetic traffic; float64)
G_ON, G_P, G_PATTERN, G_HOTSHARE, G_ALPHA, G_BETA, G_PON, G_W0, G_W1, G_SOURCES = range(10)
# stats entries (float64), over measured packets
S_N, S_LAT, S_NET, S_HOPS, S_MIN, S_MAX, S_ACC, S_INJ, S_NETMIN, S_NETMAX = range(10)
STATS = 10
# ctr entries (int64)
K_NFREE, K_INFLIGHT, K_LASTMOVE, K_NDL, K_MOVES, K_WHEEL, K_QUEUED = range(7)
CTR = 7
# delivery rows: tag, first injection cycle, delivery cycle, kind (0 message, 1 packet), flits
DL_MESSAGE, DL_PACKET = 0, 1

RETURN_END, RETURN_DELIVERED, RETURN_POOL, RETURN_DEADLOCK = 0, 1, 2, 3

