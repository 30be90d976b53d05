"""What every area of the emulator shares: ids, errors, times, the wire (requests,
answers, OData), throttling, the world and its faults. No module here imports an area's
behaviour or routes."""
