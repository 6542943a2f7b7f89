graph [
  directed 0
  node [
    id 0
    host_bandwidth_down "1 Gbit"
    host_bandwidth_up "1 Gbit"
  ]
  node [
    id 1
  ]
  edge [
    source 0
    target 0
    latency "2 ms"
  ]
  edge [
    source 1
    target 1
    latency "4 ms"
    packet_loss 0.0
  ]
  edge [
    source 0
    target 1
    latency "30 ms"
    packet_loss 0.001
  ]
]
